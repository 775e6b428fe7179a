/** The corpus JSON Schemas and their validators. */
export * from './fixture-schema.js';
export * from './forward-schema.js';
export * from './manifest-schema.js';
export * from './validate.js';

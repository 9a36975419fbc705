export * from './schema.js';
export { applyOverrides, loadRecipe, recipeToYaml, resolveFrom, validateRecipe, type LoadedRecipe } from './load.js';
export { checkKeyPath, keysOf } from './keys.js';
export { datasetSpecOf } from './dataset-spec.js';
export { cacheRequestOf, locateCache, type CacheRequest } from './cache-location.js';

export * from './schema.js';
export { applyOverrides, loadRecipe, recipeToYaml, resolveFrom, validateRecipe, type LoadedRecipe } from './load.js';
export { checkKeyPath, keysOf } from './keys.js';
export { datasetSpecFor, datasetSpecOf, datasetSpecOfSection, type DatasetSourceOptions } from './dataset-spec.js';
export { cacheRequestOf, locateCache, type CacheRequest } from './cache-location.js';
export { copyRecipe, listRecipes, packageRoot, type BuiltinRecipe } from './builtin.js';

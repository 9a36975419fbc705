// Kept apart from open.ts so that the CLI can list the built-ins without loading Arrow.
/** Names of the built-in datasets. */
export const BUILTIN_DATASETS = ['mnist', 'moby-dick', 'sotu'] as const;

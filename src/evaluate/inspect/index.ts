export { showCacheRow, formatCacheRow, type CacheRowView, type CacheShowOptions, type PositionView, type CandidateView } from './cache-show.js';

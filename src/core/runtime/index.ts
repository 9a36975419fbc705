export { Teacher, GraphSession, runtimeTensor, describeSignature, type PlainTensor, type RuntimeTensor, type TensorData, type TeacherSessionOptions } from './session.js';
export { bindInputs, buildFeeds, type InputBinding, type InputMapping } from './feeds.js';

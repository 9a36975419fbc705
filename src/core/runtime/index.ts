export { Teacher, describeSignature, type PlainTensor, type TensorData, type TeacherSessionOptions } from './session.js';
export { bindInputs, buildFeeds, type InputBinding, type InputMapping } from './feeds.js';

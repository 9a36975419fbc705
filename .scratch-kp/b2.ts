import { writeFileSync } from 'node:fs';
import { sequenceModel } from '../test/fixtures/teachers.js';
writeFileSync('/tmp/kp/seq100.onnx', sequenceModel({ vocab: 100, dModel: 16, seed: 2 }).bytes);

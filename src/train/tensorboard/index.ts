export { SummaryWriter, FILE_VERSION } from './writer.js';
export { crc32c, maskedCrc32c } from './crc32c.js';
export { frameRecord } from './record.js';
export { encodeFileVersionEvent, encodeScalarsEvent } from './proto.js';

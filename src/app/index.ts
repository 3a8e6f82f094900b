export { startFirstparty, type Running, type StartOptions } from './start.ts';
export { handOver, receiveHandover, type HandOverOptions, type HandOverOutcome, type HandoverSource, type InheritedListeners, type SuccessorStart } from './handover.ts';
export { isAlive, pidFilePath, readPidFile, removePidFile, restartRunning, writePidFile } from './pid-file.ts';
export { AppErrors } from './errors.ts';

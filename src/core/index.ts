export * from './errors.ts';
export * from './clock.ts';
export * from './retry.ts';
export * from './events.ts';
export * from './hostname.ts';
export * from './model.ts';
export * from './app-events.ts';
export * from './http-types.ts';

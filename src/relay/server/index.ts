// `whopq/server`: send conversions from your own Node server, to a relay's server endpoint or
// straight to Whop (docs/SERVER.md).
export { sendConversion, SendConversionError } from './sendConversion';
export type { SendOptions, SendResult, ServerConversion } from './sendConversion';

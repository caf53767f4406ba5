// The pixel's global, as pages define it (scenarios call it inside page.evaluate).
declare function whopq(command: string, ...args: unknown[]): void;

import { setFlagsFromString } from 'node:v8';
import { processIo } from './io.js';
import { run } from './run.js';

// Node 20's V8 aborts the process (SIGTRAP, "unreachable code" in
// Deoptimizer::DoComputeBuiltinContinuation) when optimized code that inlined a call into
// WebAssembly is lazily deoptimized: the server hit it under load while Cedar (WebAssembly)
// authorized requests. Not inlining JS-to-Wasm calls avoids that frame kind; the calls stay
// optimized otherwise. See docs/BENCHMARKS.md, "Service under load".
setFlagsFromString('--no-turbo-inline-js-wasm-calls');

process.exitCode = await run(process.argv.slice(2), processIo());

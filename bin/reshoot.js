#!/usr/bin/env node
// The CLI runs the TypeScript sources directly through tsx, so `npm ci` needs no build step.
// Signals: main.ts prints one line and exits 130 on SIGINT. Under `npx reshoot`, npm forwards a
// SIGINT sent to it to the shell that runs this file; with the default /bin/sh (dash) the signal
// stopped there, so the project's .npmrc sets script-shell=/bin/bash, which execs this process
// in place of the shell and so receives the forwarded signal itself.
import { register } from 'tsx/esm/api';

register();
await import('../src/cli/main.ts');

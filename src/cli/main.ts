#!/usr/bin/env node
/**
 * scopegate: the command line for a scopegate server, built on scopegate/client.
 * Exit status: 0 success, 1 refused or failed, 2 usage error, 3 not authenticated, 4 unreachable.
 */
import { run } from './program.js';

process.exitCode = await run(process.argv);

#!/usr/bin/env node
// The installed entry point: sxarchive runs from its TypeScript sources through tsx.
import { register } from 'tsx/esm/api';

register();
await import('./main.ts');

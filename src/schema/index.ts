import { builder } from './builder.js';
import './scalars.js';
import './namespace.js';
import './user.js';
import './token.js';
import './viewer.js';
import './session.js';
import './credential.js';
import './registry.js';
import './audit.js';

// Deny by default: every root field needs a verified principal unless it opts out
// (only `login` does); fields add their own scopes from the policy table.
builder.queryType({ authScopes: { principal: true } });
builder.mutationType({ authScopes: { principal: true } });

export const schema = builder.toSchema();

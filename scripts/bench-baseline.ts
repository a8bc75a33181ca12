/**
 * The baseline of `npm run bench`: a plain, untuned graphql-yoga server answering `{ hello }`,
 * on the port in PORT (127.0.0.1). Run as its own process by scripts/bench.ts.
 */
import { createServer } from 'node:http';
import { createSchema, createYoga } from 'graphql-yoga';

const yoga = createYoga({ schema: createSchema({ typeDefs: 'type Query { hello: String }', resolvers: { Query: { hello: () => 'world' } } }) });
createServer(yoga).listen(Number(process.env.PORT), '127.0.0.1');

import { type DocumentNode, GraphQLError, Kind, type OperationDefinitionNode, type SelectionNode } from 'graphql';
import type { Plugin } from 'graphql-yoga';
import type { Context } from '../context.js';

export const REALM = 'Bearer realm="scopegate"';

/** RFC 6750: a request that carried no credentials gets the bare challenge, no error code. */
export const authenticationRequired = () =>
  new GraphQLError('authentication required: send Authorization: Bearer <token> (login is the only anonymous operation)', {
    extensions: { code: 'UNAUTHENTICATED', http: { status: 401, headers: { 'WWW-Authenticate': REALM } } },
  });

export const invalidToken = (description: string) =>
  new GraphQLError(description, {
    extensions: {
      code: 'UNAUTHENTICATED',
      http: {
        status: 401,
        headers: { 'WWW-Authenticate': `${REALM}, error="invalid_token", error_description="${description.replace(/["\\]/g, '')}"` },
      },
    },
  });

/** The token of an `Authorization: Bearer <token>` header; null for any other shape of the header. */
export function bearerToken(header: string): string | null {
  return /^Bearer ([^\s]+)$/i.exec(header.trim())?.[1] ?? null;
}

const PUBLIC_ROOT_FIELDS = new Set(['login', '__typename']);

/** An anonymous request may run `login` and nothing else; anything more is refused before execution. */
export function useAnonymousGate(): Plugin<Context> {
  return {
    onExecute({ args, setResultAndStopExecution }) {
      if ((args.contextValue as Context).principal) return;
      const operations = (args.document as DocumentNode).definitions.filter((d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION);
      const operation = args.operationName ? operations.find((o: OperationDefinitionNode) => o.name?.value === args.operationName) : operations[0];
      const onlyPublic =
        operation?.operation === 'mutation' &&
        operation.selectionSet.selections.every((s: SelectionNode) => s.kind === Kind.FIELD && PUBLIC_ROOT_FIELDS.has(s.name.value));
      if (!onlyPublic) setResultAndStopExecution({ errors: [authenticationRequired()] });
    },
  };
}

/* eslint-disable */
/** Internal type. DO NOT USE DIRECTLY. */
type Exact<T extends { [key: string]: unknown }> = { [K in keyof T]: T[K] };
/** Internal type. DO NOT USE DIRECTLY. */
export type Incremental<T> = T | { [P in keyof T]?: P extends ' $fragmentName' | '__typename' ? T[P] : never };
import type { TypedDocumentNode as DocumentNode } from '@graphql-typed-document-node/core';
export type CreateApiTokenInput = {
  description?: string | null | undefined;
  enabled?: boolean | null | undefined;
  /** Absolute expiry. Give at most one of expiresAt and expiresInDays; none means no expiry unless the instance sets a maximum lifetime. */
  expiresAt?: string | null | undefined;
  /** Expiry in whole days from now (1-3650), e.g. 7, 30, 60 or 90. */
  expiresInDays?: number | null | undefined;
  name: string;
  namespace: string;
  role: Role;
};

export type CreateNamespaceInput = {
  description?: string | null | undefined;
  displayName?: string | null | undefined;
  name: string;
};

/** Namespace roles, ordered: VIEWER < EDITOR < OWNER. */
export type Role =
  | 'EDITOR'
  | 'OWNER'
  | 'VIEWER';

export type TypedCreateNamespaceMutationVariables = Exact<{
  input: CreateNamespaceInput;
}>;


export type TypedCreateNamespaceMutation = { createNamespace: { name: string, viewerRole: Role, createdAt: string } };

export type TypedCreateApiTokenMutationVariables = Exact<{
  input: CreateApiTokenInput;
}>;


export type TypedCreateApiTokenMutation = { createApiToken: { secret: string, apiToken: { resourceName: string, role: Role, expiresAt: string | null } } };


export const TypedCreateNamespaceDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TypedCreateNamespace"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateNamespaceInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createNamespace"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"name"}},{"kind":"Field","name":{"kind":"Name","value":"viewerRole"}},{"kind":"Field","name":{"kind":"Name","value":"createdAt"}}]}}]}}]} as unknown as DocumentNode<TypedCreateNamespaceMutation, TypedCreateNamespaceMutationVariables>;
export const TypedCreateApiTokenDocument = {"kind":"Document","definitions":[{"kind":"OperationDefinition","operation":"mutation","name":{"kind":"Name","value":"TypedCreateApiToken"},"variableDefinitions":[{"kind":"VariableDefinition","variable":{"kind":"Variable","name":{"kind":"Name","value":"input"}},"type":{"kind":"NonNullType","type":{"kind":"NamedType","name":{"kind":"Name","value":"CreateApiTokenInput"}}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"createApiToken"},"arguments":[{"kind":"Argument","name":{"kind":"Name","value":"input"},"value":{"kind":"Variable","name":{"kind":"Name","value":"input"}}}],"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"secret"}},{"kind":"Field","name":{"kind":"Name","value":"apiToken"},"selectionSet":{"kind":"SelectionSet","selections":[{"kind":"Field","name":{"kind":"Name","value":"resourceName"}},{"kind":"Field","name":{"kind":"Name","value":"role"}},{"kind":"Field","name":{"kind":"Name","value":"expiresAt"}}]}}]}}]}}]} as unknown as DocumentNode<TypedCreateApiTokenMutation, TypedCreateApiTokenMutationVariables>;
import { z } from 'zod';
import { badInput } from './errors.js';

/** Names of namespaces, tokens, credentials and registries: a DNS label. */
export const NAME_PATTERN = /^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/;
const NAME_RULE = 'must be 1-63 lowercase letters, digits or "-", starting and ending with a letter or digit (a DNS label)';

export const USERNAME_PATTERN = /^[a-z0-9]([-_.a-z0-9]{0,38}[a-z0-9])?$/;

export const nameSchema = z.string().regex(NAME_PATTERN, NAME_RULE);
export const usernameSchema = z
  .string()
  .regex(USERNAME_PATTERN, 'must be 1-40 lowercase letters, digits, "-", "_" or "." starting and ending with a letter or digit');

/**
 * A caller's name as audit targets and resource names record it: itself when it follows the
 * naming rule, else a placeholder, so what was typed into the wrong field (a password, a
 * token) never reaches the database or the log.
 */
export const recordedName = (name: string, pattern = NAME_PATTERN): string => (pattern.test(name) ? name : '(invalid name)');
export const displayNameSchema = z.string().trim().min(1, 'must not be empty').max(200, 'must be at most 200 characters');
export const descriptionSchema = z.string().max(1000, 'must be at most 1000 characters');
export const passwordSchema = z
  .string()
  .min(12, 'must be at least 12 characters')
  .max(1024, 'must be at most 1024 characters');

/**
 * Parses one input object with zod and turns the first problem into BAD_USER_INPUT
 * naming the field (e.g. "input.name: must be …"), so every mutation reports errors alike.
 */
export function parseInput<S extends z.ZodType>(schema: S, value: unknown, prefix = 'input'): z.infer<S> {
  const result = schema.safeParse(value);
  if (result.success) return result.data;
  const issue = result.error.issues[0];
  const field = [prefix, ...issue.path.map(String)].join('.');
  throw badInput(field, issue.message);
}

/** scopegate member list | set | remove */
import { type Command, Option } from 'commander';
import { act, listInNamespace, namespaceOption, noun, parseRole, verb } from '../define.js';
import type { Column } from '../output.js';

const columns: Column<any>[] = [
  { header: 'user', value: (m) => m.user.username },
  { header: 'role', value: (m) => m.role },
  { header: 'since', value: (m) => m.createdAt },
];

export function registerMember(program: Command): void {
  const member = noun(program, 'member', "A namespace's members and their roles", [
    'scopegate member list -n shop',
    'scopegate member set bob -n shop --role editor',
  ]);

  act(
    verb(member, { name: 'list', description: "List a namespace's members", example: 'scopegate member list -n shop' }).addOption(
      namespaceOption(),
    ),
    async (_a, o, ctx) => {
      const members = await listInNamespace<any>(ctx.client(), o.namespace, 'members', 'role createdAt user { username displayName }');
      ctx.output.result(members, members, columns);
    },
  );

  act(
    verb(member, {
      name: 'set <user>',
      description: 'Add a user or change their role (owners); the last owner cannot be demoted',
      example: 'scopegate member set bob -n shop --role editor',
    })
      .addOption(namespaceOption())
      .addOption(new Option('--role <role>', 'viewer, editor or owner (any case)').argParser(parseRole).makeOptionMandatory()),
    async ([user], o, ctx) => {
      const membership = await ctx
        .client()
        .request(
          'mutation($input: SetMemberRoleInput!) { setMemberRole(input: $input) { role createdAt user { username displayName } } }',
          { input: { namespace: o.namespace, username: user, role: o.role } },
        );
      const m = membership.setMemberRole;
      ctx.output.note(`${m.user.username} is now ${m.role} in ${o.namespace}`);
      ctx.output.result(m, [m], columns);
    },
  );

  act(
    verb(member, {
      name: 'remove <user>',
      description: 'Remove a member (owners); the last owner cannot be removed',
      example: 'scopegate member remove bob -n shop',
    }).addOption(namespaceOption()),
    async ([user], o, ctx) => {
      const result = await ctx.client().removeMember({ namespace: o.namespace, username: user! });
      ctx.output.note(`removed ${user} from ${o.namespace}`);
      if (ctx.output.format === 'json') ctx.output.json(result);
    },
  );
}

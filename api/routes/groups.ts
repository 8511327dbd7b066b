import { and, asc, eq, inArray, notInArray, sql, type SQL } from 'drizzle-orm';
import { Router } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db, Tx } from '../../db/client';
import { flowTemplates, groups, users } from '../../db/schema';
import { currentUser, requireAdmin } from '../auth';
import { lockDirectory, refreshOpenTasksOf, RefreshOutcomeView, type DirectoryDeps } from '../directory-service';
import { ApiError, parseOr422 } from '../errors';
import {
  atVersion,
  checkVersion,
  etag,
  expectedVersion,
  IfMatchHeader,
  nextVersion,
  notWritten,
  staleResponse,
  versionedJson,
} from '../etag';
import type { ApiDocs } from '../openapi';

/** Readable group ids, as flow templates and users name them. */
export const GroupId = z.string().regex(/^[a-z0-9-]{1,60}$/, 'lowercase letters, digits and "-", at most 60, such as "ap-team"');

const Members = z
  .array(z.string().min(1).max(120))
  .max(1000)
  .superRefine((ids, ctx) => {
    ids.forEach((id, i) => {
      if (ids.indexOf(id) !== i) ctx.addIssue({ code: 'custom', path: [i], message: `${id} appears twice` });
    });
  });

export const GroupCreateBody = z.strictObject({
  id: GroupId,
  name: z.string().trim().min(1).max(200),
  /** User ids of the company. */
  members: Members.optional(),
});

export const GroupPatchBody = z.strictObject({
  name: z.string().trim().min(1).max(200).optional(),
  /** Replaces the membership. */
  members: Members.optional(),
});

const GroupView = z.object({
  id: z.string(),
  name: z.string(),
  members: z.array(z.string()),
  createdAt: z.string(),
  version: z.number().int().describe('Grows with every change, of the members too; the ETag is "v<version>"'),
});
const groupIdParam = z.object({ id: z.string() });

type Group = typeof groups.$inferSelect;

/** Groups with their members; membership is kept on the users (`users.groups`), as routing reads it. */
export function groupsRouter(deps: DirectoryDeps): Router {
  const { db } = deps;
  const router = Router();

  router.get('/groups', async (_req, res) => {
    const user = currentUser(res);
    const rows = await db.select().from(groups).where(eq(groups.companyId, user.companyId)).orderBy(asc(groups.id));
    const members = await membersOf(db, user.companyId);
    res.json({ items: rows.map((g) => view(g, members.get(g.id) ?? [])), nextCursor: null });
  });

  router.get('/groups/:id', async (req, res) => {
    const user = currentUser(res);
    const group = await findGroup(db, user.companyId, req.params.id);
    res.set('ETag', etag(group.version)).json(view(group, (await membersOf(db, user.companyId, group.id)).get(group.id) ?? []));
  });

  router.post('/groups', async (req, res) => {
    const admin = requireAdmin(res);
    const body = parseOr422(GroupCreateBody, req.body, 'group');
    const created = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const members = body.members ?? [];
      await checkMembers(tx, admin.companyId, members);
      const [row] = await tx
        .insert(groups)
        .values({ companyId: admin.companyId, id: body.id, name: body.name })
        .onConflictDoNothing()
        .returning();
      if (!row) throw new ApiError(409, 'id_taken', `A group with the id ${body.id} exists already`);
      await setMembership(tx, admin.companyId, row.id, members);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'group_created',
        message: `Group ${row.id} created`,
        data: { id: row.id, name: row.name, members },
      });
      return view(row, [...members].sort());
    });
    res.status(201).location(`/api/v1/groups/${created.id}`).set('ETag', etag(created.version)).json(created);
  });

  router.patch('/groups/:id', async (req, res) => {
    const admin = requireAdmin(res);
    const group = await findGroup(db, admin.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, group.version);
    const body = parseOr422(GroupPatchBody, req.body, 'group');
    const { changed, removed } = await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const before = (await membersOf(tx, admin.companyId, group.id)).get(group.id) ?? [];
      const key = groupKey(admin.companyId, group.id);
      const [row] = await tx
        .update(groups)
        .set({ name: body.name ?? group.name, version: nextVersion(groups.version) })
        .where(and(key, atVersion(groups.version, expected)))
        .returning();
      if (!row) throw await notWritten(tx, groups, key, 'group');
      let members = before;
      if (body.members) {
        await checkMembers(tx, admin.companyId, body.members);
        await setMembership(tx, admin.companyId, group.id, body.members);
        members = [...body.members].sort();
      }
      const after = view(row, members);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'group_changed',
        message: `Group ${group.id} changed`,
        data: { before: view(group, before), after },
      });
      return { changed: after, removed: before.filter((m) => !members.includes(m)) };
    });
    // Those who left the group may be on tasks only because of it.
    const refreshed = await refreshOpenTasksOf(deps, admin, removed, `group ${group.id} changed`);
    res.set('ETag', etag(changed.version)).json({ ...changed, ...refreshed });
  });

  router.delete('/groups/:id', async (req, res) => {
    const admin = requireAdmin(res);
    const group = await findGroup(db, admin.companyId, req.params.id);
    const expected = expectedVersion(req);
    checkVersion(expected, group.version);
    await db.transaction(async (tx) => {
      await lockDirectory(tx, admin.companyId);
      const templates = await tx
        .select()
        .from(flowTemplates)
        .where(eq(flowTemplates.companyId, admin.companyId))
        .orderBy(asc(flowTemplates.name));
      const using = templates.filter((t) =>
        t.steps.some((s) => s.assignees.groups?.includes(group.id) || s.escalateTo?.groups?.includes(group.id)),
      );
      if (using.length > 0) {
        throw new ApiError(
          409,
          'in_use',
          `Flow templates address this group: ${using.map((t) => t.name).join(', ')}; change them first`,
          using.map((t) => ({ flowTemplateId: t.id, name: t.name })),
        );
      }
      const key = groupKey(admin.companyId, group.id);
      const [gone] = await tx
        .delete(groups)
        .where(and(key, atVersion(groups.version, expected)))
        .returning({ id: groups.id });
      if (!gone) throw await notWritten(tx, groups, key, 'group');
      const members = (await membersOf(tx, admin.companyId, group.id)).get(group.id) ?? [];
      await setMembership(tx, admin.companyId, group.id, []);
      await audit(tx, {
        companyId: admin.companyId,
        actor: admin.id,
        kind: 'group_deleted',
        message: `Group ${group.id} deleted`,
        data: view(group, members),
      });
    });
    res.status(204).end();
  });

  return router;
}

const groupKey = (companyId: string, id: string) => and(eq(groups.companyId, companyId), eq(groups.id, id));

async function findGroup(db: Db, companyId: string, id: string): Promise<Group> {
  const [row] = await db.select().from(groups).where(groupKey(companyId, id));
  if (!row) throw ApiError.notFound('group');
  return row;
}

/** Member ids by group id, sorted; for one group when `groupId` is given. */
async function membersOf(db: Db | Tx, companyId: string, groupId?: string): Promise<Map<string, string[]>> {
  const filters: SQL[] = [eq(users.companyId, companyId)];
  if (groupId !== undefined) filters.push(sql`${users.groups} @> array[${groupId}]::text[]`);
  const rows = await db
    .select({ id: users.id, groups: users.groups })
    .from(users)
    .where(and(...filters))
    .orderBy(asc(users.id));
  const byGroup = new Map<string, string[]>();
  for (const u of rows) for (const g of u.groups) byGroup.set(g, [...(byGroup.get(g) ?? []), u.id]);
  return byGroup;
}

async function checkMembers(tx: Tx, companyId: string, members: string[]): Promise<void> {
  if (members.length === 0) return;
  const found = new Set(
    (
      await tx
        .select({ id: users.id })
        .from(users)
        .where(and(eq(users.companyId, companyId), inArray(users.id, members)))
    ).map((u) => u.id),
  );
  const details = members.flatMap((m, i) => (found.has(m) ? [] : [{ path: `members.${i}`, message: `no user ${m} in this company` }]));
  if (details.length > 0) throw new ApiError(422, 'validation_failed', 'The group is not valid', details);
}

/** Makes exactly `members` carry the group id in `users.groups`; a user whose groups change is at a new version. */
async function setMembership(tx: Tx, companyId: string, groupId: string, members: string[]): Promise<void> {
  const inGroup = sql`${users.groups} @> array[${groupId}]::text[]`;
  const leaving = [eq(users.companyId, companyId), inGroup];
  if (members.length > 0) leaving.push(notInArray(users.id, members));
  await tx
    .update(users)
    .set({ groups: sql`array_remove(${users.groups}, ${groupId})`, version: nextVersion(users.version) })
    .where(and(...leaving));
  if (members.length === 0) return;
  await tx
    .update(users)
    .set({ groups: sql`array_append(${users.groups}, ${groupId})`, version: nextVersion(users.version) })
    .where(and(eq(users.companyId, companyId), inArray(users.id, members), sql`not (${inGroup})`));
}

function view(g: Group, members: string[]) {
  return { id: g.id, name: g.name, members, createdAt: g.createdAt.toISOString(), version: g.version };
}

/**
 * The groups' members are kept on the users: a user write that adds or removes groups changes
 * those groups' member lists, so they are at a new version too (a stale group edit would otherwise
 * put back a member removed meanwhile).
 */
export async function touchGroups(tx: Tx, companyId: string, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .update(groups)
    .set({ version: nextVersion(groups.version) })
    .where(and(eq(groups.companyId, companyId), inArray(groups.id, ids)));
}

/** The group routes in the OpenAPI document. */
export const groupsDocs: ApiDocs = (d) => {
  const notFound = d.error("No such group in the caller's company");
  d.path('Groups', 'get', '/groups', {
    summary: "The company's groups with their members (user ids)",
    responses: { 200: d.page(GroupView, 'Every group'), ...d.common },
  });
  d.path('Groups', 'get', '/groups/:id', {
    summary: 'One group with its members',
    request: { params: groupIdParam },
    responses: { 200: versionedJson(d, GroupView, 'The group'), ...d.common, 404: notFound },
  });
  d.path('Groups', 'post', '/groups', {
    summary: 'Create a group (admins), optionally with members',
    request: { body: d.body(GroupCreateBody) },
    responses: {
      201: versionedJson(d, GroupView, 'Created'),
      ...d.common,
      403: d.error('Not an admin'),
      409: d.error('The id is taken (id_taken)'),
      422: d.error('Invalid group or unknown member; details list every problem'),
    },
  });
  d.path('Groups', 'patch', '/groups/:id', {
    summary: 'Rename a group or replace its members (admins; send If-Match); members who leave have their open tasks re-resolved',
    request: { params: groupIdParam, headers: IfMatchHeader, body: d.body(GroupPatchBody) },
    responses: {
      200: versionedJson(d, GroupView.extend(RefreshOutcomeView), 'Changed'),
      ...d.common,
      403: d.error('Not an admin'),
      404: notFound,
      412: staleResponse(d),
      422: d.error('Invalid change or unknown member'),
    },
  });
  d.path('Groups', 'delete', '/groups/:id', {
    summary: 'Delete a group (admins; send If-Match) and take it off every user; refused while a flow template addresses it',
    request: { params: groupIdParam, headers: IfMatchHeader },
    responses: {
      204: { description: 'Deleted' },
      ...d.common,
      403: d.error('Not an admin'),
      404: notFound,
      409: d.error('Flow templates address the group (in_use); details name them'),
      412: staleResponse(d),
    },
  });
};

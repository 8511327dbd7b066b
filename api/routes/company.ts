import { and, eq } from 'drizzle-orm';
import { Router, type RequestHandler } from 'express';
import { z } from 'zod';
import { audit } from '../../activities/audit';
import type { Db } from '../../db/client';
import { settings } from '../../db/schema';
import { currentUser, requireAdmin } from '../auth';
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
import { SettingsPatchBody as SharedSettingsPatchBody } from '../schemas';

/** The settings an admin may change; any field left out stays as it is. */
export const SettingsPatchBody = SharedSettingsPatchBody.extend({
  receivableAccount: z.string().trim().min(1).max(20).optional(),
  /** Authorization scheme: an incorrect invoice reaching approval is rejected with the failed checks. */
  autoRejectIncorrect: z.boolean().optional(),
  /** Authorization scheme: an invoice rejected as incorrect goes back to approval once reviewed correct. */
  autoReauthorize: z.boolean().optional(),
  /** Whether a new invoice's workflow starts on intake when intake does not say (otherwise it waits in the inbox). */
  autoStart: z.boolean().optional(),
});

const SettingsView = z
  .object({
    useWorkqueueSend: z.boolean(),
    allowBatchApproveAll: z.boolean(),
    twoApproverThreshold: z.string().nullable().openapi({ description: "In each invoice's own currency; null for never" }),
    payableAccount: z.string(),
    receivableAccount: z.string(),
    autoRejectIncorrect: z.boolean(),
    autoReauthorize: z.boolean(),
    autoStart: z
      .boolean()
      .openapi({ description: "Intake's autoStart when the invoice does not say; false holds new invoices in the inbox" }),
    version: z.number().int().openapi({ description: 'Grows with every change; the ETag is "v<version>"' }),
  })
  .openapi('Settings');

/** The verbs other than GET and PATCH, which /settings answers with 405 and a pointer. */
const OTHER_VERBS = ['put', 'post', 'delete'] as const;

/** Company settings: one object per company, read by everyone, changed by admins with PATCH (audited). */
export function companyRouter({ db }: { db: Db }): Router {
  const router = Router();

  router.get('/settings', async (_req, res) => {
    const current = await currentSettings(db, currentUser(res).companyId);
    res.set('ETag', etag(current.version)).json(settingsView(current));
  });

  router.patch('/settings', async (req, res) => {
    const user = requireAdmin(res);
    const before = await currentSettings(db, user.companyId);
    const expected = expectedVersion(req);
    checkVersion(expected, before.version);
    const body = parseOr422(SettingsPatchBody, req.body, 'settings');
    const updated = await db.transaction(async (tx) => {
      const key = eq(settings.companyId, user.companyId);
      let row = before;
      if (Object.keys(body).length > 0) {
        const [changed] = await tx
          .update(settings)
          .set({ ...body, version: nextVersion(settings.version) })
          .where(and(key, atVersion(settings.version, expected)))
          .returning();
        if (!changed) throw await notWritten(tx, settings, key, 'settings');
        row = changed;
      }
      await audit(tx, {
        companyId: user.companyId,
        actor: user.id,
        kind: 'settings_changed',
        message: `Settings changed: ${Object.keys(body).join(', ') || 'nothing'}`,
        data: { before: settingsView(before), after: settingsView(row) },
      });
      return row;
    });
    res.set('ETag', etag(updated.version)).json(settingsView(updated));
  });

  const notAllowed: RequestHandler = (req) => {
    const error = new ApiError(
      405,
      'method_not_allowed',
      `${req.method} is not allowed on /settings: read them with GET and change any of their fields with PATCH`,
    );
    error.headers.Allow = 'GET, PATCH';
    throw error;
  };
  for (const verb of OTHER_VERBS) router[verb]('/settings', notAllowed);

  return router;
}

function settingsView(s: typeof settings.$inferSelect): z.infer<typeof SettingsView> {
  return {
    useWorkqueueSend: s.useWorkqueueSend,
    allowBatchApproveAll: s.allowBatchApproveAll,
    twoApproverThreshold: s.twoApproverThreshold,
    payableAccount: s.payableAccount,
    receivableAccount: s.receivableAccount,
    autoRejectIncorrect: s.autoRejectIncorrect,
    autoReauthorize: s.autoReauthorize,
    autoStart: s.autoStart,
    version: s.version,
  };
}

async function currentSettings(db: Db, companyId: string) {
  await db.insert(settings).values({ companyId }).onConflictDoNothing();
  const [row] = await db.select().from(settings).where(eq(settings.companyId, companyId));
  return row!;
}

/** The settings routes in the OpenAPI document. */
export const settingsDocs: ApiDocs = (d) => {
  const tag = 'Settings';
  d.path(tag, 'get', '/settings', {
    summary: "The company's settings",
    responses: { 200: versionedJson(d, SettingsView, 'The settings'), ...d.common },
  });
  d.path(tag, 'patch', '/settings', {
    summary: 'Change some settings (admins; send If-Match); fields left out stay as they are',
    request: { headers: IfMatchHeader, body: d.body(SettingsPatchBody) },
    responses: {
      200: versionedJson(d, SettingsView, 'The settings after the change'),
      ...d.common,
      403: d.error('Not an admin'),
      412: staleResponse(d),
      422: d.error('Invalid body'),
    },
  });
  for (const verb of OTHER_VERBS) {
    d.path(tag, verb, '/settings', {
      summary: `Not allowed: settings are one object per company, read with GET and changed with PATCH`,
      responses: { ...d.common, 405: d.error('Use GET or PATCH (Allow: GET, PATCH)') },
    });
  }
};

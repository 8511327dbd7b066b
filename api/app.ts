import type { Client } from '@temporalio/client';
import express, { type Express } from 'express';
import swaggerUi from 'swagger-ui-express';
import type { Database } from '../db/client';
import { firstStepActivities, type FirstStepActivities } from '../lib/first-step';
import type { Logger } from '../lib/logger';
import { accessLog } from './access-log';
import { authenticate } from './auth';
import { devMailDocs, devMailPage } from './dev-mail';
import { errorMiddleware, notFoundRoute } from './errors';
import { openApiDocument } from './openapi';
import { securityHeaders } from './security-headers';
import type { SalesPostingOptions } from './sales-posting-service';
import { agreementsDocs, agreementsRouter } from './routes/agreements';
import { codingTemplatesDocs, codingTemplatesRouter } from './routes/coding-templates';
import { costCentresDocs, costCentresRouter } from './routes/cost-centres';
import { customersDocs, customersRouter } from './routes/customers';
import { companyRouter, settingsDocs } from './routes/company';
import { environmentsDocs, environmentsRouter } from './routes/environments';
import { flowTemplatesDocs, flowTemplatesRouter } from './routes/flow-templates';
import { groupsDocs, groupsRouter } from './routes/groups';
import { invoicesDocs, invoicesRouter } from './routes/invoices';
import { meDocs, meRouter } from './routes/me';
import { messagesDocs, messagesRouter } from './routes/messages';
import { obligationsDocs, obligationsRouter } from './routes/obligations';
import { reviewRulesDocs, reviewRulesRouter } from './routes/review-rules';
import { salesInvoicesDocs, salesInvoicesRouter } from './routes/sales-invoices';
import { startRulesDocs, startRulesRouter } from './routes/start-rules';
import { systemDocs } from './routes/system';
import { usersDocs, usersRouter } from './routes/users';
import { vendorsDocs, vendorsRouter } from './routes/vendors';
import { workQueueDocs, workQueueRouter } from './routes/work-queue';
import { CSP_DIRECTIVES, demoUsersDocs, mountWebPage } from './web';

/** Every router's paths, for /openapi.json and the docs page. */
const API_DOCS = [
  systemDocs,
  invoicesDocs,
  workQueueDocs,
  codingTemplatesDocs,
  flowTemplatesDocs,
  agreementsDocs,
  vendorsDocs,
  settingsDocs,
  usersDocs,
  groupsDocs,
  costCentresDocs,
  environmentsDocs,
  reviewRulesDocs,
  startRulesDocs,
  obligationsDocs,
  customersDocs,
  salesInvoicesDocs,
  meDocs,
  messagesDocs,
];

export interface AppDeps {
  database: Database;
  temporal: Client;
  logger: Logger;
  clock?: () => Date;
  /** Largest accepted JSON body. */
  bodyLimit?: string;
  /** Largest accepted XML (UBL) body. */
  xmlLimit?: string;
  /** Invoice workflows continue as new past this many history events (tests set it low). */
  maxHistoryEvents?: number;
  /** The activities intake and the inbox take a new invoice's first step with (lib/first-step.ts); default: on this database, with the development mail settings. */
  firstStep?: FirstStepActivities;
  /** How sales postings run: task queue, chunk size, heartbeat timeout (tests change them). */
  salesPosting?: SalesPostingOptions;
  /** The built web page (default dist/web). */
  webDir?: string;
  /** The demo users' sign-in picker (GET /dev/demo-users); never with NODE_ENV=production. */
  demoSignIn?: boolean;
  /** Where the dev launcher's mail catcher keeps mails, shown at GET /dev/mail; never with NODE_ENV=production. */
  devMailDir?: string | undefined;
}

/** The HTTP API, built from its dependencies so tests can run it without globals. */
export function createApp({
  database,
  temporal,
  logger,
  clock = () => new Date(),
  bodyLimit = '4mb',
  xmlLimit = '10mb',
  maxHistoryEvents,
  firstStep,
  salesPosting,
  webDir,
  demoSignIn = process.env.NODE_ENV !== 'production',
  devMailDir = process.env.NODE_ENV !== 'production' ? process.env.DEV_MAIL_DIR : undefined,
}: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  // Security headers on every answer (nosniff, frame and referrer policies, a same-origin CSP).
  app.use(securityHeaders({ contentSecurityPolicy: { directives: CSP_DIRECTIVES } }));
  app.set('query parser', 'simple');
  app.use(accessLog(logger, (req) => req.url === '/healthz' || req.url === '/readyz'));

  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const checks = await Promise.all([
      check(() => database.ping()),
      check(async () => {
        await temporal.connection.workflowService.getSystemInfo({});
      }),
    ]);
    const [db, temporalCheck] = checks;
    const ok = checks.every((c) => c === 'ok');
    res.status(ok ? 200 : 503).json({ status: ok ? 'ok' : 'unavailable', checks: { database: db, temporal: temporalCheck } });
  });
  const openApi = openApiDocument([...API_DOCS, ...(demoSignIn ? [demoUsersDocs] : []), ...(devMailDir ? [devMailDocs] : [])]);
  app.get('/openapi.json', (_req, res) => {
    res.json(openApi);
  });
  app.use('/docs', swaggerUi.serve, swaggerUi.setup(openApi, { swaggerOptions: { tagsSorter: 'alpha', operationsSorter: 'alpha' } }));

  const deps = {
    db: database.db,
    temporal,
    clock,
    log: logger,
    firstStep: firstStep ?? firstStepActivities({ db: database.db, clock }),
    ...(maxHistoryEvents ? { maxHistoryEvents } : {}),
  };
  const api = express.Router();
  // API answers are per user and often confidential: never stored by a cache.
  api.use((_req, res, next) => {
    res.set('Cache-Control', 'no-store');
    next();
  });
  api.use(
    express.json({
      limit: bodyLimit,
      strict: true,
      type: ['application/json', 'application/*+json'],
      verify: (req, _res, buf) => {
        (req as typeof req & { rawBody?: Buffer }).rawBody = buf;
      },
    }),
  );
  api.use(express.raw({ limit: xmlLimit, type: ['application/xml', 'text/xml'] }));
  api.use(authenticate(database.db));
  api.use(invoicesRouter(deps));
  api.use(workQueueRouter(deps));
  api.use(flowTemplatesRouter(deps));
  api.use(companyRouter(deps));
  api.use(agreementsRouter(deps));
  api.use(codingTemplatesRouter(deps));
  api.use(vendorsRouter(deps));
  api.use(usersRouter(deps));
  api.use(groupsRouter(deps));
  api.use(costCentresRouter(deps));
  api.use(environmentsRouter(deps));
  api.use(reviewRulesRouter(deps));
  api.use(startRulesRouter(deps));
  api.use(obligationsRouter(deps));
  api.use(customersRouter(deps));
  api.use(salesInvoicesRouter({ ...deps, ...(salesPosting ? { salesPosting } : {}) }));
  api.use(meRouter(deps));
  api.use(messagesRouter(deps));
  app.use('/api/v1', api);
  if (devMailDir) app.get('/dev/mail', devMailPage(devMailDir));
  // The web page at / (same origin, only through /api/v1), after the API so it never shadows a route.
  mountWebPage(app, { db: database.db, demoSignIn, ...(webDir ? { distDir: webDir } : {}) });

  app.use(notFoundRoute);
  app.use(errorMiddleware(logger));
  return app;
}

async function check(probe: () => Promise<void>): Promise<string> {
  try {
    await probe();
    return 'ok';
  } catch (err) {
    return `failing: ${(err as Error).message}`;
  }
}

// The hello-world baseline for the list figures: Express on the same process settings as the API
// (its own process, NODE_ENV=production, started from source with tsx), answering a small JSON.
import express from 'express';

const app = express();
app.get('/hello', (_req, res) => {
  res.json({ hello: 'world' });
});
const server = app.listen(Number(process.env.PORT), '127.0.0.1');
process.once('SIGTERM', () => server.close(() => process.exit(0)));

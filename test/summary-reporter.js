// Writes jest's aggregated results (the same object `--json` prints) to test-results/jest.json,
// so CI can print "N passed, N failed" from it.
const fs = require('node:fs');
const path = require('node:path');

class SummaryReporter {
  constructor(globalConfig) {
    this.rootDir = globalConfig.rootDir;
  }

  onRunComplete(_contexts, results) {
    const dir = path.join(this.rootDir, 'test-results');
    fs.mkdirSync(dir, { recursive: true });
    const { testResults, ...totals } = results;
    const files = testResults.map((r) => ({
      file: path.relative(this.rootDir, r.testFilePath),
      passed: r.numPassingTests,
      failed: r.numFailingTests,
      failureMessage: r.failureMessage ?? null,
    }));
    fs.writeFileSync(path.join(dir, 'jest.json'), JSON.stringify({ ...totals, files }, null, 2));
  }
}

module.exports = SummaryReporter;

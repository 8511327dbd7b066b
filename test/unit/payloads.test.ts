/**
 * The workflow's own payload schemas refuse what Postgres cannot store: a Signal sent from the
 * Temporal Web UI is checked by them alone (the API adds its own checks in front of them).
 */
import fc from 'fast-check';
import { PAYLOAD_SCHEMAS } from '../../workflows/payloads';

describe('action payloads', () => {
  it('refuse control characters and lone surrogates in every text, and keep tabs and line breaks in comments', () => {
    expect(PAYLOAD_SCHEMAS.reject.safeParse({ by: 'demo.erin', reason: 'bad\u0000' }).success).toBe(false);
    expect(PAYLOAD_SCHEMAS.delegate.safeParse({ by: 'demo.erin', to: 'demo.\u0085dave' }).success).toBe(false);
    expect(PAYLOAD_SCHEMAS.approve.safeParse({ by: 'demo.erin', comment: 'half \ud800' }).success).toBe(false);
    expect(PAYLOAD_SCHEMAS.restart.safeParse({ by: 'demo.erin', reason: 'x\u001b[2J' }).success).toBe(false);
    expect(PAYLOAD_SCHEMAS.approve.safeParse({ by: 'demo.erin', comment: 'line one\n\tline two\r\n' }).success).toBe(true);
  });

  it('property: a comment is accepted exactly when it has no character Postgres text would refuse or mangle', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'binary', maxLength: 40 }), (comment) => {
        const control = [...comment].some((ch) => {
          const c = ch.charCodeAt(0);
          return (c < 0x20 && c !== 0x09 && c !== 0x0a && c !== 0x0d) || (c >= 0x7f && c <= 0x9f);
        });
        // A lone surrogate does not survive UTF-8: Node writes U+FFFD for it.
        const bad = control || Buffer.from(comment, 'utf8').toString('utf8') !== comment;
        expect(PAYLOAD_SCHEMAS.approve.safeParse({ by: 'demo.erin', comment }).success).toBe(!bad);
      }),
      { numRuns: 2000 },
    );
  });
});

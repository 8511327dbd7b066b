/**
 * A correction of the coding rows, by the open task's assignee or an admin, while nobody has
 * approved on them yet (new, review, rejected, exceptions review). The rows are written by the
 * workflow (activity `replaceCoding`, against the version the editor saw) before this applies:
 * unchanged rows keep their signatures, changed ones start unsigned, and the open task is
 * resolved again, since rights follow the rows' cost centres.
 */
import type { Action, Rule } from './actions';
import { pendingOn } from './route';
import { currentTask, record, refusal, suffix, type Stage } from './state';

type CodingChanged = Extract<Action, { kind: 'codingChanged' }>;

/** Stages in which the coding may still change. */
export const CODING_STAGES: readonly Stage[] = ['new', 'review', 'rejected', 'exceptions_review'];

export const codingChanged: Rule<CodingChanged> = {
  needs: (_s, a) => ({ actor: a.payload.by }),
  check(s, a) {
    if (!CODING_STAGES.includes(s.stage)) {
      return refusal('wrong_stage', `The coding can change in new, review, rejected or exceptions review; this invoice is in ${s.stage}`);
    }
    const task = currentTask(s);
    const mine = !!task && task.state === 'open' && pendingOn(task).includes(a.payload.by);
    if (!mine && !a.lookups.actor?.admin) return refusal('not_assignee', "Only the open task's assignee or an admin may change the coding");
    return undefined;
  },
  apply(s, a, clock) {
    const written = a.lookups.coding!;
    const before = new Map(s.rows.map((r) => [r.id, r]));
    s.rows = written.rows.map((r) => before.get(r.id) ?? { id: r.id, kind: r.kind, dimensions: r.dimensions, approvals: [] });
    delete s.codingProblem;
    record(
      s,
      clock,
      a.payload.by,
      'codingChanged',
      'done',
      `Coding changed: ${written.changes.length} row change${written.changes.length === 1 ? '' : 's'}${suffix(a.payload.comment)}`,
    );
    if (s.reviews) s.reviewDue = { trigger: 'coding', by: a.payload.by };
    const task = currentTask(s);
    if (task) task.state = 'resolving';
    return written.changes.length > 0 ? `Coding saved (version ${written.version})` : 'Coding unchanged';
  },
};

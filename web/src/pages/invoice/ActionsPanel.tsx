/**
 * What the signed-in user may do now on the invoice's open task: approve, reject with a reason,
 * delegate to a colleague, not mine (shared tasks), exceptions review with a message, resolve an
 * exception. Each action names the task it answers, so a double click never acts on the next step;
 * the server's answer (or refusal) is shown in its own words.
 */
import { useEffect, useState, type FormEvent, type ReactNode } from 'react';
import { all, call } from '../../api';
import { Notice } from '../../components/common';
import { ErrorSummary, Field, formError, type FormError } from '../../components/forms';
import type { ActionResult, InvoiceDetail, Task, User } from '../../types';
import { useSession } from '../../session';

type Action = 'approve' | 'reject' | 'delegate' | 'not-mine' | 'exceptions-review' | 'resolve-exception';

/** Stages whose invoice may be sent to exceptions review. */
const PARKABLE = ['new', 'review', 'approval', 'control', 'copy'];

const APPROVE_LABEL: Record<string, string> = {
  new: 'Register (send to review)',
  review: 'Review (sign and send on)',
  approval: 'Approve',
  control: 'Control (send on)',
  copy: 'Done with the copy',
  rejected: 'Resubmit',
};

export function ActionsPanel({
  invoice,
  openTask,
  mine,
  onDone,
}: {
  invoice: InvoiceDetail;
  openTask: Task | undefined;
  mine: boolean;
  onDone: () => Promise<void>;
}) {
  const { me } = useSession();
  const [answer, setAnswer] = useState<{ action: Action; result: ActionResult } | null>(null);
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState<Action | null>(null);

  /** Sends the action; true when the server accepted it. */
  const send = async (action: Action, body: Record<string, unknown>): Promise<boolean> => {
    setBusy(action);
    setError(null);
    setAnswer(null);
    try {
      const res = await call<ActionResult>('POST', `/invoices/${invoice.id}/actions/${action}`, {
        body: { ...body, ...(openTask ? { taskId: openTask.id } : {}) },
      });
      setAnswer({ action, result: res.data });
      await onDone();
      return true;
    } catch (err) {
      setError(formError(err));
      return false;
    } finally {
      setBusy(null);
    }
  };

  const stage = invoice.stage;
  const inExceptions = stage === 'exceptions_review';
  const actions: ReactNode[] = [];
  if (mine && openTask && !inExceptions) {
    actions.push(
      <TextAction
        key="approve"
        action="approve"
        title={APPROVE_LABEL[stage] ?? 'Approve'}
        label="Comment (optional)"
        optional
        busy={busy}
        onSend={(comment) => send('approve', comment ? { comment } : {})}
      />,
      <TextAction
        key="reject"
        action="reject"
        title={stage === 'rejected' ? 'Cancel for good' : 'Reject'}
        label="Reason"
        busy={busy}
        onSend={(reason) => send('reject', { reason })}
      />,
      <DelegateAction
        key="delegate"
        me={me.id}
        busy={busy}
        onSend={(to, comment) => send('delegate', { to, ...(comment ? { comment } : {}) })}
      />,
    );
    if (openTask.assignees.length > 1) {
      actions.push(
        <form
          key="not-mine"
          className="action"
          onSubmit={(e: FormEvent) => {
            e.preventDefault();
            void send('not-mine', {});
          }}
        >
          <h3>Not mine</h3>
          <p className="hint">Shared with {openTask.assignees.filter((a) => a !== me.id).join(', ')}: leave it to them.</p>
          <button type="submit" disabled={busy !== null}>
            Not mine
          </button>
        </form>,
      );
    }
    if (PARKABLE.includes(stage)) {
      actions.push(
        <TextAction
          key="exceptions-review"
          action="exceptions-review"
          title="Exceptions review"
          label="Message for the clerks"
          busy={busy}
          onSend={(message) => send('exceptions-review', { message })}
        />,
      );
    }
  }
  if (mine && inExceptions) {
    actions.push(
      <TextAction
        key="resolve-exception"
        action="resolve-exception"
        title="Resolve exception"
        label="Comment (optional)"
        optional
        busy={busy}
        onSend={(comment) => send('resolve-exception', comment ? { comment } : {})}
      />,
    );
  }

  return (
    <section className="actions-panel" aria-labelledby="actions-heading">
      <h2 id="actions-heading">Your actions</h2>
      {answer && (
        <Notice kind="ok">
          <p>
            <strong>{answer.result.moved ? 'Done: ' : 'Accepted: '}</strong>
            {answer.result.message}
          </p>
        </Notice>
      )}
      <ErrorSummary error={error} />
      {actions.length > 0 ? (
        <div className="action-grid">{actions}</div>
      ) : (
        <p className="muted">
          {openTask
            ? `The open task is for ${openTask.assignees.join(', ')}; nothing waits for you here.`
            : 'No task is open on this invoice: nothing waits for anyone.'}
        </p>
      )}
    </section>
  );
}

/** One action with one text (a comment, a reason, a message) and its button. */
function TextAction({
  action,
  title,
  label,
  optional = false,
  busy,
  onSend,
}: {
  action: Action;
  title: string;
  label: string;
  optional?: boolean;
  busy: Action | null;
  onSend: (text: string) => Promise<boolean>;
}) {
  const [text, setText] = useState('');
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onSend(text.trim()).then((ok) => ok && setText(''));
  };
  return (
    <form className="action" onSubmit={submit} aria-label={title}>
      <h3>{title}</h3>
      <Field label={label}>
        {(a11y) => (
          <textarea
            {...a11y}
            name={action}
            rows={2}
            maxLength={2000}
            required={!optional}
            value={text}
            onChange={(e) => setText(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" disabled={busy !== null || (!optional && !text.trim())}>
        {busy === action ? 'Sending…' : title}
      </button>
    </form>
  );
}

function DelegateAction({
  me,
  busy,
  onSend,
}: {
  me: string;
  busy: Action | null;
  onSend: (to: string, comment: string) => Promise<boolean>;
}) {
  const [users, setUsers] = useState<User[]>([]);
  const [to, setTo] = useState('');
  const [comment, setComment] = useState('');
  useEffect(() => {
    all<User>('/users?active=true')
      .then((list) => setUsers(list.filter((u) => u.id !== me)))
      .catch(() => setUsers([]));
  }, [me]);
  const submit = (e: FormEvent) => {
    e.preventDefault();
    void onSend(to.trim(), comment.trim()).then((ok) => {
      if (!ok) return;
      setTo('');
      setComment('');
    });
  };
  return (
    <form className="action" onSubmit={submit} aria-label="Delegate">
      <h3>Delegate</h3>
      <Field label="Delegate to" hint="A colleague, or the user id of someone in a partner environment.">
        {(a11y) => (
          <>
            <input
              {...a11y}
              name="delegate-to"
              list="delegate-users"
              autoComplete="off"
              required
              value={to}
              onChange={(e) => setTo(e.target.value)}
            />
            <datalist id="delegate-users">
              {users.map((u) => (
                <option key={u.id} value={u.id}>
                  {u.name} ({u.roles.join(', ')})
                </option>
              ))}
            </datalist>
          </>
        )}
      </Field>
      <Field label="Comment (optional)">
        {(a11y) => (
          <textarea
            {...a11y}
            name="delegate-comment"
            rows={2}
            maxLength={2000}
            value={comment}
            onChange={(e) => setComment(e.target.value)}
          />
        )}
      </Field>
      <button type="submit" disabled={busy !== null || !to.trim()}>
        {busy === 'delegate' ? 'Sending…' : 'Delegate'}
      </button>
    </form>
  );
}

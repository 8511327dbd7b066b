/** The company settings (PATCH /settings with If-Match): batch actions, the two-approver threshold, accounts, the authorization scheme. */
import { useState, type FormEvent } from 'react';
import { call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formError, type FormError } from '../../components/forms';
import { useSession } from '../../session';
import type { Settings } from '../../types';
import { orNull } from './shared';

export function SettingsForm() {
  const [loaded] = useLoad(() => get<Settings>('/settings'), []);
  return <Show loaded={loaded}>{(answer) => <SettingsEditor settings={answer.data} etag={answer.etag} />}</Show>;
}

const SWITCHES = [
  ['useWorkqueueSend', 'Batch actions in the work queue (Approve, Exceptions review, Not mine)'],
  ['allowBatchApproveAll', 'Select all invoices of a queue at once (the header checkbox)'],
  ['autoRejectIncorrect', 'Reject an invoice the automatic review finds incorrect when it reaches approval'],
  ['autoReauthorize', 'Send such an invoice back to approval once a later review finds it correct'],
] as const;

function SettingsEditor({ settings, etag: firstEtag }: { settings: Settings; etag: string | null }) {
  const { reloadSettings } = useSession();
  const [draft, setDraft] = useState({ ...settings, twoApproverThreshold: settings.twoApproverThreshold ?? '' });
  const [etag, setEtag] = useState(firstEtag);
  const [error, setError] = useState<FormError | null>(null);
  const [saved, setSaved] = useState(false);
  const [busy, setBusy] = useState(false);

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    setSaved(false);
    try {
      const res = await call<Settings>('PATCH', '/settings', {
        headers: etag ? { 'if-match': etag } : {},
        body: {
          useWorkqueueSend: draft.useWorkqueueSend,
          allowBatchApproveAll: draft.allowBatchApproveAll,
          autoRejectIncorrect: draft.autoRejectIncorrect,
          autoReauthorize: draft.autoReauthorize,
          twoApproverThreshold: orNull(draft.twoApproverThreshold),
          payableAccount: draft.payableAccount.trim(),
          receivableAccount: draft.receivableAccount.trim(),
        },
      });
      setEtag(res.etag);
      setDraft({ ...res.data, twoApproverThreshold: res.data.twoApproverThreshold ?? '' });
      setSaved(true);
      await reloadSettings();
    } catch (err) {
      setError(formError(err));
    } finally {
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="settings-heading">
      <h1 id="settings-heading">Settings</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        {saved && (
          <Notice kind="ok">
            <p>Settings saved.</p>
          </Notice>
        )}
        <fieldset>
          <legend>Work queue and authorization</legend>
          {SWITCHES.map(([key, label]) => (
            <div className="field checkbox" key={key}>
              <input
                id={`setting-${key}`}
                type="checkbox"
                checked={draft[key]}
                onChange={(e) => setDraft((d) => ({ ...d, [key]: e.target.checked }))}
              />
              <label htmlFor={`setting-${key}`}>{label}</label>
            </div>
          ))}
        </fieldset>
        <Field
          label="Two-approver threshold"
          path="twoApproverThreshold"
          error={error}
          hint="Above this gross (in each invoice's own currency) every row needs two approvers. Empty: never."
        >
          {(a11y) => (
            <input
              {...a11y}
              inputMode="decimal"
              value={draft.twoApproverThreshold}
              onChange={(e) => setDraft((d) => ({ ...d, twoApproverThreshold: e.target.value }))}
            />
          )}
        </Field>
        <div className="pair">
          <Field label="Payable account" path="payableAccount" error={error}>
            {(a11y) => (
              <input {...a11y} value={draft.payableAccount} onChange={(e) => setDraft((d) => ({ ...d, payableAccount: e.target.value }))} />
            )}
          </Field>
          <Field label="Receivable account" path="receivableAccount" error={error}>
            {(a11y) => (
              <input
                {...a11y}
                value={draft.receivableAccount}
                onChange={(e) => setDraft((d) => ({ ...d, receivableAccount: e.target.value }))}
              />
            )}
          </Field>
        </div>
        <button type="submit" disabled={busy}>
          {busy ? 'Saving…' : 'Save settings'}
        </button>
      </form>
    </section>
  );
}

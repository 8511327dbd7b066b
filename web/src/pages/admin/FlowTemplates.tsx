/** Flow templates: ordered steps (review, approval, control, copy), each with its assignees and mode. */
import { useState, type FormEvent } from 'react';
import { all, call, get } from '../../api';
import { Notice, Show, useLoad } from '../../components/common';
import { ErrorSummary, Field, formError, GroupErrors, joinList, splitList, type FormError } from '../../components/forms';
import { stageName } from '../../format';
import { Link, navigate } from '../../router';
import type { FlowStep, FlowTemplate } from '../../types';
import { Flash, setFlash } from './shared';

const KINDS = ['review', 'approval', 'control', 'copy'] as const;

function assigneesText(step: FlowStep): string {
  const a = step.assignees;
  return [
    a.users?.length ? `users ${a.users.join(', ')}` : '',
    a.groups?.length ? `groups ${a.groups.join(', ')}` : '',
    a.roles?.length ? `roles ${a.roles.join(', ')}` : '',
    a.byDimension ? 'owner of the cost centre' : '',
  ]
    .filter(Boolean)
    .join('; ');
}

export function FlowTemplateList() {
  const [loaded, reload] = useLoad(() => all<FlowTemplate>('/flow-templates'), []);
  const [answer, setAnswer] = useState<{ kind: 'ok' | 'error'; text: string } | null>(null);
  const remove = async (t: FlowTemplate) => {
    setAnswer(null);
    try {
      await call('DELETE', `/flow-templates/${t.id}`, { headers: { 'if-match': `"v${t.version}"` } });
      setAnswer({ kind: 'ok', text: `Flow template "${t.name}" deleted.` });
      await reload();
    } catch (err) {
      setAnswer({ kind: 'error', text: formError(err).message });
    }
  };
  return (
    <section aria-labelledby="flows-heading">
      <h1 id="flows-heading">Flow templates</h1>
      <Flash />
      <p>
        <Link to="/admin/flow-templates/new" className="button">
          New flow template
        </Link>
      </p>
      {answer && (
        <Notice kind={answer.kind}>
          <p>{answer.text}</p>
        </Notice>
      )}
      <Show loaded={loaded}>
        {(templates) => (
          <div className="table-wrap">
            <table>
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Steps</th>
                  <th scope="col">Default</th>
                  <th scope="col">Actions</th>
                </tr>
              </thead>
              <tbody>
                {templates.map((t) => (
                  <tr key={t.id}>
                    <td>{t.name}</td>
                    <td>
                      <ol className="compact">
                        {t.steps.map((s, i) => (
                          <li key={i}>
                            {stageName(s.kind)}: {assigneesText(s)} ({s.mode === 'all' ? 'all must act' : 'any one'})
                          </li>
                        ))}
                      </ol>
                    </td>
                    <td>{t.isDefault ? 'yes' : 'no'}</td>
                    <td className="row-actions">
                      <Link to={`/admin/flow-templates/${t.id}`} aria-label={`Edit flow template ${t.name}`}>
                        Edit
                      </Link>
                      <button
                        type="button"
                        className="danger"
                        aria-label={`Delete flow template ${t.name}`}
                        onClick={() => {
                          if (window.confirm(`Delete the flow template "${t.name}"?`)) void remove(t);
                        }}
                      >
                        Delete
                      </button>
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </Show>
    </section>
  );
}

interface StepDraft {
  kind: FlowStep['kind'];
  users: string;
  groups: string;
  roles: string;
  byDimension: boolean;
  mode: 'any' | 'all';
  reminderAfter: string;
  escalateAfter: string;
  escalateTo: string;
}

const stepDraft = (s?: FlowStep): StepDraft => ({
  kind: s?.kind ?? 'review',
  users: joinList(s?.assignees.users),
  groups: joinList(s?.assignees.groups),
  roles: joinList(s?.assignees.roles),
  byDimension: s?.assignees.byDimension === 'costCentre',
  mode: s?.mode ?? 'any',
  reminderAfter: s?.reminderAfter ?? '',
  escalateAfter: s?.escalateAfter ?? '',
  escalateTo: joinList(s?.escalateTo?.users),
});

function stepBody(d: StepDraft): FlowStep {
  const list = (text: string) => {
    const items = splitList(text);
    return items.length ? items : undefined;
  };
  const users = list(d.users);
  const groups = list(d.groups);
  const roles = list(d.roles);
  const escalateTo = list(d.escalateTo);
  return {
    kind: d.kind,
    assignees: {
      ...(users ? { users } : {}),
      ...(groups ? { groups } : {}),
      ...(roles ? { roles } : {}),
      ...(d.byDimension ? { byDimension: 'costCentre' } : {}),
    },
    mode: d.mode,
    ...(d.reminderAfter.trim() ? { reminderAfter: d.reminderAfter.trim() } : {}),
    ...(d.escalateAfter.trim() ? { escalateAfter: d.escalateAfter.trim() } : {}),
    ...(escalateTo ? { escalateTo: { users: escalateTo } } : {}),
  };
}

export function FlowTemplateForm({ id }: { id: string | undefined }) {
  const [loaded] = useLoad(async () => (id ? await get<FlowTemplate>(`/flow-templates/${id}`) : null), [id]);
  return <Show loaded={loaded}>{(answer) => <FlowEditor template={answer?.data ?? null} etag={answer?.etag ?? null} />}</Show>;
}

function FlowEditor({ template, etag }: { template: FlowTemplate | null; etag: string | null }) {
  const [name, setName] = useState(template?.name ?? '');
  const [isDefault, setIsDefault] = useState(template?.isDefault ?? false);
  const [steps, setSteps] = useState<StepDraft[]>(() =>
    template ? template.steps.map(stepDraft) : [stepDraft(), { ...stepDraft(), kind: 'approval' }],
  );
  const [error, setError] = useState<FormError | null>(null);
  const [busy, setBusy] = useState(false);
  const update = (i: number, patch: Partial<StepDraft>) => setSteps((ss) => ss.map((s, j) => (j === i ? { ...s, ...patch } : s)));
  const move = (i: number, by: number) =>
    setSteps((ss) => {
      const next = [...ss];
      const [step] = next.splice(i, 1);
      next.splice(i + by, 0, step!);
      return next;
    });

  const submit = async (e: FormEvent) => {
    e.preventDefault();
    setBusy(true);
    setError(null);
    const body = { name: name.trim(), isDefault, steps: steps.map(stepBody) };
    try {
      if (template) await call('PUT', `/flow-templates/${template.id}`, { body, headers: etag ? { 'if-match': etag } : {} });
      else await call('POST', '/flow-templates', { body });
      setFlash(template ? 'Flow template saved.' : 'Flow template created.');
      navigate('/admin/flow-templates');
    } catch (err) {
      setError(formError(err));
      setBusy(false);
    }
  };

  return (
    <section aria-labelledby="flow-form-heading">
      <h1 id="flow-form-heading">{template ? `Edit flow template ${template.name}` : 'New flow template'}</h1>
      <form onSubmit={(e) => void submit(e)} noValidate className="admin-form">
        <ErrorSummary error={error} />
        <Field label="Name" path="name" error={error}>
          {(a11y) => <input {...a11y} name="name" value={name} onChange={(e) => setName(e.target.value)} />}
        </Field>
        <div className="field checkbox">
          <input id="flow-default" type="checkbox" checked={isDefault} onChange={(e) => setIsDefault(e.target.checked)} />
          <label htmlFor="flow-default">The company's default flow</label>
        </div>
        <GroupErrors error={error} path="steps" />
        {steps.map((s, i) => (
          <fieldset key={i} className="step">
            <legend>Step {i + 1}</legend>
            <div className="pair">
              <Field label="Kind" path={`steps.${i}.kind`} error={error}>
                {(a11y) => (
                  <select {...a11y} value={s.kind} onChange={(e) => update(i, { kind: e.target.value as FlowStep['kind'] })}>
                    {KINDS.map((k) => (
                      <option key={k} value={k}>
                        {stageName(k)}
                      </option>
                    ))}
                  </select>
                )}
              </Field>
              <Field label="Mode" path={`steps.${i}.mode`} error={error}>
                {(a11y) => (
                  <select {...a11y} value={s.mode} onChange={(e) => update(i, { mode: e.target.value as 'any' | 'all' })}>
                    <option value="any">any: one assignee finishes the task</option>
                    <option value="all">all: every assignee must act</option>
                  </select>
                )}
              </Field>
            </div>
            <fieldset className="assignees">
              <legend>Assignees of step {i + 1}</legend>
              <GroupErrors error={error} path={`steps.${i}.assignees`} />
              <Field label="Users (ids, comma separated)" path={`steps.${i}.assignees.users`} error={error}>
                {(a11y) => <input {...a11y} value={s.users} onChange={(e) => update(i, { users: e.target.value })} />}
              </Field>
              <Field label="Groups" path={`steps.${i}.assignees.groups`} error={error}>
                {(a11y) => <input {...a11y} value={s.groups} onChange={(e) => update(i, { groups: e.target.value })} />}
              </Field>
              <Field label="Roles" path={`steps.${i}.assignees.roles`} error={error}>
                {(a11y) => <input {...a11y} value={s.roles} onChange={(e) => update(i, { roles: e.target.value })} />}
              </Field>
              <div className="field checkbox">
                <input
                  id={`step-${i}-dimension`}
                  type="checkbox"
                  checked={s.byDimension}
                  onChange={(e) => update(i, { byDimension: e.target.checked })}
                />
                <label htmlFor={`step-${i}-dimension`}>By dimension: the owner of each row's cost centre</label>
              </div>
            </fieldset>
            <div className="pair">
              <Field label="Remind after" path={`steps.${i}.reminderAfter`} error={error} hint='e.g. "4h" or "3d"'>
                {(a11y) => <input {...a11y} value={s.reminderAfter} onChange={(e) => update(i, { reminderAfter: e.target.value })} />}
              </Field>
              <Field label="Escalate after" path={`steps.${i}.escalateAfter`} error={error}>
                {(a11y) => <input {...a11y} value={s.escalateAfter} onChange={(e) => update(i, { escalateAfter: e.target.value })} />}
              </Field>
              <Field label="Escalate to (user ids)" path={`steps.${i}.escalateTo`} error={error} hint="Default: the admins">
                {(a11y) => <input {...a11y} value={s.escalateTo} onChange={(e) => update(i, { escalateTo: e.target.value })} />}
              </Field>
            </div>
            <GroupErrors error={error} path={`steps.${i}`} />
            <div className="buttons">
              <button type="button" className="secondary" disabled={i === 0} onClick={() => move(i, -1)}>
                Move step {i + 1} up
              </button>
              <button type="button" className="secondary" disabled={i === steps.length - 1} onClick={() => move(i, 1)}>
                Move step {i + 1} down
              </button>
              <button
                type="button"
                className="secondary"
                disabled={steps.length === 1}
                onClick={() => setSteps((ss) => ss.filter((_, j) => j !== i))}
              >
                Remove step {i + 1}
              </button>
            </div>
          </fieldset>
        ))}
        <button type="button" className="secondary" onClick={() => setSteps((ss) => [...ss, stepDraft()])}>
          Add a step
        </button>
        <div className="buttons">
          <button type="submit" disabled={busy}>
            {busy ? 'Saving…' : template ? 'Save flow template' : 'Create flow template'}
          </button>
          <Link to="/admin/flow-templates" className="button secondary">
            Cancel
          </Link>
        </div>
      </form>
    </section>
  );
}

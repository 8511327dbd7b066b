/** Flow templates: ordered steps and who is addressed by each. */
export type StepKind = 'review' | 'approval' | 'control' | 'copy';
export type TaskMode = 'any' | 'all';

/** Who a step addresses. `byDimension` names a coding dimension, e.g. `costCentre`: the owners of each row's value. */
export interface AssigneeSpec {
  users?: string[];
  groups?: string[];
  roles?: string[];
  byDimension?: string;
}

export interface FlowStepDefinition {
  kind: StepKind;
  assignees: AssigneeSpec;
  mode: TaskMode;
  /** ISO-8601 durations ("PT4H") or milliseconds strings; optional. */
  reminderAfter?: string;
  escalateAfter?: string;
  escalateTo?: AssigneeSpec;
}

export interface DirectoryUser {
  id: string;
  roles: readonly string[];
  groups: readonly string[];
  costCentres: readonly string[];
  active: boolean;
}

/** The user ids a spec addresses for one invoice, in a stable order. */
export function resolveAssignees(
  spec: AssigneeSpec,
  directory: readonly DirectoryUser[],
  rows: readonly { dimensions: Record<string, string> }[] = [],
): string[] {
  const dimensionValues = spec.byDimension
    ? new Set(rows.map((r) => r.dimensions[spec.byDimension!]).filter((v): v is string => v !== undefined))
    : new Set<string>();
  const ids = directory
    .filter((u) => u.active)
    .filter(
      (u) =>
        spec.users?.includes(u.id) ||
        u.roles.some((r) => spec.roles?.includes(r)) ||
        u.groups.some((g) => spec.groups?.includes(g)) ||
        (spec.byDimension === 'costCentre' && u.costCentres.some((c) => dimensionValues.has(c))),
    )
    .map((u) => u.id);
  return [...new Set(ids)].sort();
}

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
  /** Durations such as "30s", "4h" or "3d"; optional. */
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

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** "30s", "15m", "4h", "3d" (or "250ms") in milliseconds; undefined for anything else. */
export function durationMs(value: string | undefined): number | undefined {
  const match = value === undefined ? null : /^(\d{1,9})(ms|s|m|h|d)$/.exec(value.trim());
  return match ? Number.parseInt(match[1]!, 10) * UNIT_MS[match[2]!]! : undefined;
}

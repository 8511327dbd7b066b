/** Form parts that show the API's validation errors (`details: [{path, message}]`) next to the fields they name. */
import { useEffect, useId, useRef, type ReactNode } from 'react';
import { ApiError, type ErrorDetail } from '../api';

/** What a failed save left to show: the server's message and its details. */
export interface FormError {
  message: string;
  details: ErrorDetail[];
}

/** Any thrown error as a FormError (an ApiError keeps the server's words). */
export function formError(err: unknown): FormError {
  if (err instanceof ApiError) return { message: err.message, details: err.details };
  return { message: err instanceof Error ? err.message : String(err), details: [] };
}

/** The messages of the details whose path is exactly `path`. */
export function messagesAt(error: FormError | null, path: string): string[] {
  return (error?.details ?? []).filter((d) => d.path === path && d.message).map((d) => String(d.message));
}

/** The server's message and every detail, at the top of the form (read out, and focused, when it appears). */
export function ErrorSummary({ error }: { error: FormError | null }) {
  const box = useRef<HTMLDivElement>(null);
  useEffect(() => box.current?.focus(), [error]);
  if (!error) return null;
  return (
    <div className="error-summary" role="alert" tabIndex={-1} ref={box}>
      <p>{error.message}</p>
      {error.details.length > 0 && (
        <ul>
          {error.details.map((d, i) => (
            <li key={i}>
              {d.path ? <code>{d.path}</code> : null} {d.message ?? JSON.stringify(d)}
            </li>
          ))}
        </ul>
      )}
    </div>
  );
}

export interface ControlProps {
  id: string;
  'aria-invalid'?: true;
  'aria-describedby'?: string;
}

/**
 * A labelled control with its hint and the API's messages for `path` beneath it; the control gets
 * its id, aria-invalid and aria-describedby from the render function's argument.
 */
export function Field({
  label,
  path,
  error,
  hint,
  className,
  children,
}: {
  label: ReactNode;
  path?: string;
  error?: FormError | null;
  hint?: ReactNode;
  className?: string;
  children: (control: ControlProps) => ReactNode;
}) {
  const id = useId();
  const messages = path ? messagesAt(error ?? null, path) : [];
  const describedBy = [hint ? `${id}-hint` : '', messages.length ? `${id}-error` : ''].filter(Boolean).join(' ');
  return (
    <div className={`field${messages.length ? ' invalid' : ''}${className ? ` ${className}` : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children({
        id,
        ...(messages.length ? { 'aria-invalid': true as const } : {}),
        ...(describedBy ? { 'aria-describedby': describedBy } : {}),
      })}
      {hint && (
        <p className="hint" id={`${id}-hint`}>
          {hint}
        </p>
      )}
      {messages.length > 0 && (
        <p className="field-error" id={`${id}-error`}>
          {messages.join('; ')}
        </p>
      )}
    </div>
  );
}

/** Messages for a group of controls (a fieldset, a row), shown under its legend. */
export function GroupErrors({ error, path }: { error: FormError | null; path: string }) {
  const messages = messagesAt(error, path);
  if (messages.length === 0) return null;
  return <p className="field-error">{messages.join('; ')}</p>;
}

/** "a, b, c" ⇄ ["a", "b", "c"] for lists typed as text. */
export const splitList = (text: string): string[] =>
  text
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
export const joinList = (items: readonly string[] | undefined): string => (items ?? []).join(', ');

/** "costCentre=CC-100, project=P-7" ⇄ {costCentre: "CC-100", project: "P-7"}. */
export function parseDimensions(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of splitList(text)) {
    const at = part.indexOf('=');
    if (at > 0) out[part.slice(0, at).trim()] = part.slice(at + 1).trim();
    else out[part] = '';
  }
  return out;
}
export const formatDimensions = (d: Record<string, string> | undefined): string =>
  Object.entries(d ?? {})
    .map(([k, v]) => `${k}=${v}`)
    .join(', ');

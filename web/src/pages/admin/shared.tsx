/** What the administration forms share: a flash message after a save, the page heading, lookups. */
import { useState } from 'react';
import { Notice } from '../../components/common';

let flash: string | null = null;

/** A message for the next list shown ("Agreement created"). */
export function setFlash(message: string): void {
  flash = message;
}

/** The flash message, shown once. */
export function Flash() {
  const [message] = useState(() => {
    const m = flash;
    flash = null;
    return m;
  });
  return message ? (
    <Notice kind="ok">
      <p>{message}</p>
    </Notice>
  ) : null;
}

/** An optional text field as the API takes it: null when left empty. */
export const orNull = (value: string): string | null => (value.trim() === '' ? null : value.trim());

/** A whole number typed in a field; anything else goes to the API as typed, which answers with its own message. */
export const wholeNumber = (value: string): number | string => (/^\s*\d{1,9}\s*$/.test(value) ? Number.parseInt(value, 10) : value);

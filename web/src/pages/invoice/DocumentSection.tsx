/**
 * The original document as it arrived (download, fetched with the bearer token) and its
 * attachments; an embedded PDF is taken from the stored UBL document and shown inline.
 */
import { useEffect, useState } from 'react';
import { download } from '../../api';
import { Notice } from '../../components/common';
import type { InvoiceDetail } from '../../types';

interface Pdf {
  name: string;
  url: string;
}

/** Saves a Blob under `filename` through a temporary link (the document needs the bearer token, so no plain href). */
function save(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  const a = document.createElement('a');
  a.href = url;
  a.download = filename;
  document.body.appendChild(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
}

/** The PDF attachments embedded in a UBL document (cac:AdditionalDocumentReference), as Blobs. */
function embeddedPdfs(xml: string): { name: string; blob: Blob }[] {
  const doc = new DOMParser().parseFromString(xml, 'application/xml');
  const objects = Array.from(doc.getElementsByTagNameNS('*', 'EmbeddedDocumentBinaryObject'));
  const pdfs: { name: string; blob: Blob }[] = [];
  for (const o of objects) {
    if ((o.getAttribute('mimeCode') ?? '').toLowerCase() !== 'application/pdf') continue;
    try {
      const bytes = Uint8Array.from(atob((o.textContent ?? '').replace(/\s+/g, '')), (ch) => ch.charCodeAt(0));
      // A real PDF starts with %PDF; some examples label other files as PDF.
      if (String.fromCharCode(...bytes.slice(0, 4)) !== '%PDF') continue;
      pdfs.push({ name: o.getAttribute('filename') ?? 'attachment.pdf', blob: new Blob([bytes], { type: 'application/pdf' }) });
    } catch {
      // not base64: leave it out
    }
  }
  return pdfs;
}

export function DocumentSection({ invoice }: { invoice: InvoiceDetail }) {
  const [error, setError] = useState<string | null>(null);
  const [pdfs, setPdfs] = useState<Pdf[]>([]);
  const hasEmbeddedPdf = invoice.attachments.some((a) => (a.mimeCode ?? '').toLowerCase() === 'application/pdf' && a.embeddedBytes);

  useEffect(() => {
    if (!hasEmbeddedPdf) return;
    let urls: string[] = [];
    let live = true;
    download(`/invoices/${invoice.id}/document`)
      .then(async ({ blob }) => {
        const found = embeddedPdfs(await blob.text());
        urls = found.map((p) => URL.createObjectURL(p.blob));
        if (live) setPdfs(found.map((p, i) => ({ name: p.name, url: urls[i]! })));
      })
      .catch((err: unknown) => live && setError((err as Error).message));
    return () => {
      live = false;
      urls.forEach((u) => URL.revokeObjectURL(u));
    };
  }, [invoice.id, hasEmbeddedPdf]);

  const downloadOriginal = async () => {
    setError(null);
    try {
      const { blob, filename } = await download(`/invoices/${invoice.id}/document`);
      save(blob, filename);
    } catch (err) {
      setError((err as Error).message);
    }
  };

  return (
    <section aria-labelledby="document-heading">
      <h2 id="document-heading">Original document</h2>
      <p>
        Received as {invoice.source.format === 'ubl' ? 'UBL 2.1 XML' : 'JSON'}
        {invoice.source.customizationId && <span className="muted"> ({invoice.source.customizationId})</span>}.{' '}
        <button type="button" className="secondary" onClick={() => void downloadOriginal()}>
          Download the original document
        </button>
      </p>
      {error && (
        <Notice kind="error">
          <p>{error}</p>
        </Notice>
      )}
      {invoice.attachments.length > 0 && (
        <>
          <h3>Attachments</h3>
          <ul>
            {invoice.attachments.map((a, i) => (
              <li key={i}>
                {a.filename ?? a.reference}
                {a.description && ` – ${a.description}`}
                {a.mimeCode && <span className="muted"> ({a.mimeCode})</span>}
                {a.uri && (
                  <span className="muted">
                    {' '}
                    external: <code>{a.uri}</code>
                  </span>
                )}
              </li>
            ))}
          </ul>
        </>
      )}
      {pdfs.map((p) => (
        <figure key={p.url} className="pdf">
          <iframe src={p.url} title={`Attachment ${p.name}`} />
          <figcaption>
            {p.name}{' '}
            <a href={p.url} download={p.name}>
              Save the PDF
            </a>
          </figcaption>
        </figure>
      ))}
    </section>
  );
}

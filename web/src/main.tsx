import { StrictMode } from 'react';
import { createRoot } from 'react-dom/client';
import { prefetch } from './api';
import { App } from './App';
import { firstQueuePage } from './pages/WorkQueuePage';
import { TOKEN_KEY } from './session';
import './styles.css';

// Back in a tab that keeps its token, on the queue: ask for the queue's first page now, beside the
// sign-in check (/me, /settings), not after it. The API still checks the token on this call too.
const token = sessionStorage.getItem(TOKEN_KEY);
const firstPage = firstQueuePage(window.location);
if (token && firstPage) prefetch(firstPage, token);

createRoot(document.getElementById('root')!).render(
  <StrictMode>
    <App />
  </StrictMode>,
);

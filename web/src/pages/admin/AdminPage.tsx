/** Administration for admins: agreements, flow and coding templates, users, settings, review rules and start rules. */
import { useTitle } from '../../components/common';
import { Link, match, navigate } from '../../router';
import { AgreementForm, AgreementList } from './Agreements';
import { CodingTemplateForm, CodingTemplateList } from './CodingTemplates';
import { FlowTemplateForm, FlowTemplateList } from './FlowTemplates';
import { ReviewRuleForm, ReviewRuleList } from './ReviewRules';
import { SettingsForm } from './Settings';
import { StartRuleForm, StartRuleList } from './StartRules';
import { UserForm, UserList } from './Users';
import { useEffect } from 'react';

const SECTIONS = [
  { path: 'agreements', label: 'Agreements' },
  { path: 'flow-templates', label: 'Flow templates' },
  { path: 'coding-templates', label: 'Coding templates' },
  { path: 'users', label: 'Users' },
  { path: 'settings', label: 'Settings' },
  { path: 'review-rules', label: 'Review rules' },
  { path: 'start-rules', label: 'Start rules' },
] as const;

export function AdminPage({ path }: { path: string }) {
  useTitle('Administration');
  const section = path.split('/')[2] ?? '';
  useEffect(() => {
    if (!section) navigate('/admin/agreements', { replace: true });
  }, [section]);
  return (
    <div className="admin">
      <nav aria-label="Administration" className="subnav">
        <ul>
          {SECTIONS.map((s) => (
            <li key={s.path}>
              <Link to={`/admin/${s.path}`} aria-current={section === s.path ? 'page' : undefined}>
                {s.label}
              </Link>
            </li>
          ))}
        </ul>
      </nav>
      <div className="admin-body">
        <AdminView path={path} />
      </div>
    </div>
  );
}

function AdminView({ path }: { path: string }) {
  const form = (base: string) => match(`/admin/${base}/:id`, path)?.id;
  if (path === '/admin/agreements') return <AgreementList />;
  if (form('agreements')) return <AgreementForm key={path} id={form('agreements') === 'new' ? undefined : form('agreements')} />;
  if (path === '/admin/flow-templates') return <FlowTemplateList />;
  if (form('flow-templates'))
    return <FlowTemplateForm key={path} id={form('flow-templates') === 'new' ? undefined : form('flow-templates')} />;
  if (path === '/admin/coding-templates') return <CodingTemplateList />;
  if (form('coding-templates'))
    return <CodingTemplateForm key={path} id={form('coding-templates') === 'new' ? undefined : form('coding-templates')} />;
  if (path === '/admin/users') return <UserList />;
  if (form('users')) return <UserForm key={path} id={form('users') === 'new' ? undefined : form('users')} />;
  if (path === '/admin/settings') return <SettingsForm />;
  if (path === '/admin/review-rules') return <ReviewRuleList />;
  if (form('review-rules')) return <ReviewRuleForm key={path} id={form('review-rules') === 'new' ? undefined : form('review-rules')} />;
  if (path === '/admin/start-rules') return <StartRuleList />;
  if (form('start-rules')) return <StartRuleForm key={path} id={form('start-rules') === 'new' ? undefined : form('start-rules')} />;
  return <p>Choose a section.</p>;
}

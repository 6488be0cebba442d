import type { ComponentChildren, JSX } from 'preact';
import { useEffect, useState } from 'preact/hooks';

/** Every console path starts here (the server serves index.html for all of them). */
export const BASE = '/ui';

export type Route =
  | { page: 'sessions' }
  | { page: 'session'; id: string }
  | { page: 'runners' }
  | { page: 'sign-in' }
  | { page: 'not-found' };

export function parseRoute(pathname: string): Route {
  const path = pathname.startsWith(BASE) ? pathname.slice(BASE.length) : pathname;
  const parts = path.split('/').filter(Boolean);
  if (parts.length === 0 || (parts.length === 1 && parts[0] === 'sessions')) {
    return { page: 'sessions' };
  }
  if (parts.length === 2 && parts[0] === 'sessions') {
    return { page: 'session', id: decodeURIComponent(parts[1]) };
  }
  if (parts.length === 1 && parts[0] === 'runners') {
    return { page: 'runners' };
  }
  if (parts.length === 1 && parts[0] === 'sign-in') {
    return { page: 'sign-in' };
  }
  return { page: 'not-found' };
}

const listeners = new Set<() => void>();

export function navigate(path: string): void {
  window.history.pushState(null, '', `${BASE}${path}`);
  listeners.forEach((notify) => notify());
}

/** The current route; re-renders on navigate() and on the browser's back/forward. */
export function useRoute(): Route {
  const [route, setRoute] = useState(() => parseRoute(window.location.pathname));
  useEffect(() => {
    const update = () => setRoute(parseRoute(window.location.pathname));
    listeners.add(update);
    window.addEventListener('popstate', update);
    return () => {
      listeners.delete(update);
      window.removeEventListener('popstate', update);
    };
  }, []);
  return route;
}

/** A real link (works with middle-click and the keyboard) that navigates in place. */
export function Link(props: {
  to: string;
  children: ComponentChildren;
  class?: string;
  'aria-current'?: 'page';
}): JSX.Element {
  const onClick = (event: MouseEvent) => {
    if (event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) {
      return;
    }
    event.preventDefault();
    navigate(props.to);
  };
  return (
    <a
      href={`${BASE}${props.to}`}
      class={props.class}
      aria-current={props['aria-current']}
      onClick={onClick}
    >
      {props.children}
    </a>
  );
}

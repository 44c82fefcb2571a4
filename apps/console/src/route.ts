/** The console's pages, addressed by the URL's hash (`#/groups/orders`), so any /console/ path serves them. */
export type Route =
  | { page: 'overview' }
  | { page: 'source'; name: string }
  | { page: 'topic'; name: string }
  | { page: 'group'; name: string }
  | { page: 'config' };

/** The route of a location hash; anything unknown is the overview. */
export function parseRoute(hash: string): Route {
  const parts = hash
    .replace(/^#\/?/, '')
    .split('/')
    .filter(Boolean)
    .map((p) => {
      try {
        return decodeURIComponent(p);
      } catch {
        return p;
      }
    });
  const [first, name] = parts;
  if (first === 'config') return { page: 'config' };
  if (name !== undefined && first === 'sources') return { page: 'source', name };
  if (name !== undefined && first === 'topics') return { page: 'topic', name };
  if (name !== undefined && first === 'groups') return { page: 'group', name };
  return { page: 'overview' };
}

export function href(route: Route): string {
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'config':
      return '#/config';
    case 'source':
      return `#/sources/${encodeURIComponent(route.name)}`;
    case 'topic':
      return `#/topics/${encodeURIComponent(route.name)}`;
    case 'group':
      return `#/groups/${encodeURIComponent(route.name)}`;
  }
}

import { createContext, useContext } from 'react';
import type { Whoami } from './api/types.js';

/** Who is signed in (the answer of GET /v1/whoami for the token in this tab). */
export const SessionContext = createContext<Whoami | null>(null);

export function useMe(): Whoami {
  const me = useContext(SessionContext);
  if (!me) throw new Error('useMe outside a signed-in page');
  return me;
}

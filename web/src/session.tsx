// Who is signed in. The session itself is the HttpOnly cookie; the app only asks `/v1/me`.
import { createContext, useCallback, useContext, useEffect, useState, type ReactNode } from "react";
import { api, type Schemas } from "./api/client";

type User = Schemas["UserView"];
type State = { status: "loading" } | { status: "signed_out" } | { status: "signed_in"; user: User };

interface Session {
  state: State;
  refresh: () => Promise<void>;
  signOut: () => Promise<void>;
}

const Ctx = createContext<Session | null>(null);

export function SessionProvider({ children }: { children: ReactNode }) {
  const [state, setState] = useState<State>({ status: "loading" });
  const refresh = useCallback(async () => {
    try {
      const r = await api.GET("/v1/me");
      setState(r.data ? { status: "signed_in", user: r.data } : { status: "signed_out" });
    } catch {
      setState({ status: "signed_out" });
    }
  }, []);
  const signOut = useCallback(async () => {
    await api.POST("/v1/auth/logout").catch(() => undefined);
    setState({ status: "signed_out" });
  }, []);
  useEffect(() => {
    void refresh();
  }, [refresh]);
  return <Ctx.Provider value={{ state, refresh, signOut }}>{children}</Ctx.Provider>;
}

export function useSession(): Session {
  const c = useContext(Ctx);
  if (!c) throw new Error("useSession outside SessionProvider");
  return c;
}

export function useUser(): User | null {
  const { state } = useSession();
  return state.status === "signed_in" ? state.user : null;
}

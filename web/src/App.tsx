import { Navigate, Route, Routes, useLocation } from "react-router";
import { type ReactNode } from "react";
import { Layout } from "./components/Layout";
import { Loading } from "./components/ui";
import { useSession } from "./session";
import { Login } from "./pages/Login";
import { Signup } from "./pages/Signup";
import { VerifyEmail } from "./pages/VerifyEmail";
import { DevOutbox } from "./pages/DevOutbox";
import { Dashboard } from "./pages/Dashboard";
import { OpenAccount } from "./pages/OpenAccount";
import { AccountDetail } from "./pages/AccountDetail";
import { Send } from "./pages/Send";
import { Security } from "./pages/Security";
import { ApiKeys } from "./pages/ApiKeys";
import { Crypto } from "./pages/Crypto";
import { NotFound } from "./pages/NotFound";

/** Private pages: a signed-out visit goes to sign-in and comes back afterwards. */
function Private({ children }: { children: ReactNode }) {
  const { state } = useSession();
  const location = useLocation();
  if (state.status === "loading") return <Loading />;
  if (state.status === "signed_out") {
    const next = encodeURIComponent(location.pathname + location.search);
    return <Navigate to={`/login?next=${next}`} replace />;
  }
  return <>{children}</>;
}

export function App() {
  return (
    <Routes>
      <Route element={<Layout />}>
        <Route path="/login" element={<Login />} />
        <Route path="/signup" element={<Signup />} />
        <Route path="/verify-email" element={<VerifyEmail />} />
        <Route path="/dev/outbox" element={<DevOutbox />} />
        <Route path="/" element={<Private><Dashboard /></Private>} />
        <Route path="/accounts/new" element={<Private><OpenAccount /></Private>} />
        <Route path="/accounts/:id" element={<Private><AccountDetail /></Private>} />
        <Route path="/send" element={<Private><Send /></Private>} />
        <Route path="/security" element={<Private><Security /></Private>} />
        <Route path="/api-keys" element={<Private><ApiKeys /></Private>} />
        <Route path="/crypto" element={<Private><Crypto /></Private>} />
        <Route path="*" element={<NotFound />} />
      </Route>
    </Routes>
  );
}

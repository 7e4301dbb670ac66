// Light and dark themes: the system's choice until the person picks one.
import { useEffect, useState } from "react";

export type Theme = "light" | "dark";

function initial(): Theme {
  const saved = localStorage.getItem("pb.theme");
  if (saved === "light" || saved === "dark") return saved;
  return window.matchMedia?.("(prefers-color-scheme: dark)").matches ? "dark" : "light";
}

export function useTheme(): [Theme, (t: Theme) => void] {
  const [theme, setTheme] = useState<Theme>(initial);
  useEffect(() => {
    document.documentElement.dataset.theme = theme;
  }, [theme]);
  return [
    theme,
    (t) => {
      localStorage.setItem("pb.theme", t);
      setTheme(t);
    },
  ];
}

import { useEffect, useRef } from "react";
import QRCode from "qrcode";

/** Draws `text` as a QR code in the browser (nothing leaves the page). */
export function QrCode({ text, label }: { text: string; label: string }) {
  const canvas = useRef<HTMLCanvasElement>(null);
  useEffect(() => {
    if (canvas.current) void QRCode.toCanvas(canvas.current, text, { width: 200, margin: 2 });
  }, [text]);
  return <canvas ref={canvas} role="img" aria-label={label} className="qr" />;
}

/** An inventory line as the demo board publishes it, one field changed per event: what the delta tests publish. */
export function stockLine(i: number): { sku: string; name: string; location: string; qty: number; reserved: number } {
  return { sku: 'A-1', name: 'Anvil, forged, 20 kg', location: 'wh-7', qty: 100 - i, reserved: i % 3 };
}

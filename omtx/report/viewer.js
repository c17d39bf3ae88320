// A small 3D structure viewer: SDF (V2000) and mmCIF/PDB atoms on a canvas; drag to rotate,
// wheel to zoom. Kept in the report so it opens with no network.
(function () {
  const CPK = {C: "#909090", N: "#3050f8", O: "#ff0d0d", S: "#ffff30", P: "#ff8000", F: "#90e050",
    Cl: "#1ff01f", Br: "#a62929", I: "#940094", H: "#e0e0e0"};
  function parseSdf(text) {
    const lines = text.split(/\r?\n/);
    const counts = lines[3] || "";
    const na = parseInt(counts.slice(0, 3)), nb = parseInt(counts.slice(3, 6));
    const atoms = [], bonds = [];
    for (let i = 0; i < na; i++) {
      const l = lines[4 + i];
      atoms.push({x: +l.slice(0, 10), y: +l.slice(10, 20), z: +l.slice(20, 30), e: l.slice(31, 34).trim()});
    }
    for (let i = 0; i < nb; i++) {
      const l = lines[4 + na + i];
      bonds.push([parseInt(l.slice(0, 3)) - 1, parseInt(l.slice(3, 6)) - 1, parseInt(l.slice(6, 9))]);
    }
    return {atoms, bonds};
  }
  function parseCif(text) {
    const atoms = [], cols = [];
    let inLoop = false;
    for (const line of text.split(/\r?\n/)) {
      if (line.startsWith("_atom_site.")) { cols.push(line.trim().slice(11)); inLoop = true; continue; }
      if (inLoop && cols.length && (line.startsWith("ATOM") || line.startsWith("HETATM"))) {
        const f = line.trim().split(/\s+/);
        const get = (n) => f[cols.indexOf(n)];
        atoms.push({x: +get("Cartn_x"), y: +get("Cartn_y"), z: +get("Cartn_z"), e: get("type_symbol") || "C"});
      } else if (inLoop && cols.length && atoms.length) { break; }
    }
    const bonds = [];  // infer bonds from distances (no connectivity in atom_site)
    for (let i = 0; i < atoms.length && atoms.length < 4000; i++)
      for (let j = i + 1; j < atoms.length; j++) {
        const dx = atoms[i].x - atoms[j].x, dy = atoms[i].y - atoms[j].y, dz = atoms[i].z - atoms[j].z;
        const d2 = dx * dx + dy * dy + dz * dz;
        if (d2 < 3.0 && d2 > 0.16) bonds.push([i, j, 1]);
      }
    return {atoms, bonds};
  }
  function view(canvas, mol) {
    const ctx = canvas.getContext("2d");
    const n = mol.atoms.length || 1;
    const c = mol.atoms.reduce((a, p) => ({x: a.x + p.x / n, y: a.y + p.y / n, z: a.z + p.z / n}), {x: 0, y: 0, z: 0});
    const pts = mol.atoms.map((p) => ({x: p.x - c.x, y: p.y - c.y, z: p.z - c.z, e: p.e}));
    const radius = Math.max(...pts.map((p) => Math.hypot(p.x, p.y, p.z)), 1);
    let rx = 0.4, ry = 0.6, zoom = 1, drag = null;
    function draw() {
      const w = canvas.width, h = canvas.height, s = zoom * Math.min(w, h) / (2.3 * radius);
      const cx = Math.cos(rx), sx = Math.sin(rx), cy = Math.cos(ry), sy = Math.sin(ry);
      const q = pts.map((p) => {
        const x1 = p.x * cy + p.z * sy, z1 = -p.x * sy + p.z * cy;
        return {x: w / 2 + x1 * s, y: h / 2 - (p.y * cx - z1 * sx) * s, z: p.y * sx + z1 * cx, e: p.e};
      });
      ctx.clearRect(0, 0, w, h);
      ctx.lineWidth = Math.max(1.5, s * 0.12);
      for (const [a, b, order] of mol.bonds) {
        ctx.strokeStyle = order > 1 ? "#555" : "#888";
        ctx.beginPath(); ctx.moveTo(q[a].x, q[a].y); ctx.lineTo(q[b].x, q[b].y); ctx.stroke();
      }
      q.map((p, i) => i).sort((i, j) => q[i].z - q[j].z).forEach((i) => {
        const p = q[i];
        ctx.fillStyle = CPK[p.e] || "#ff1493";
        ctx.beginPath(); ctx.arc(p.x, p.y, Math.max(2, s * (p.e === "H" ? 0.15 : 0.25)), 0, 2 * Math.PI); ctx.fill();
      });
    }
    canvas.addEventListener("mousedown", (e) => { drag = [e.clientX, e.clientY]; });
    window.addEventListener("mouseup", () => { drag = null; });
    canvas.addEventListener("mousemove", (e) => {
      if (!drag) return;
      ry += (e.clientX - drag[0]) * 0.01; rx += (e.clientY - drag[1]) * 0.01; drag = [e.clientX, e.clientY]; draw();
    });
    canvas.addEventListener("wheel", (e) => { e.preventDefault(); zoom *= e.deltaY < 0 ? 1.1 : 0.9; draw(); });
    draw();
  }
  document.querySelectorAll("canvas[data-structure]").forEach((canvas) => {
    const src = document.getElementById(canvas.dataset.structure).textContent;
    const mol = canvas.dataset.format === "sdf" ? parseSdf(src) : parseCif(src);
    view(canvas, mol);
  });
})();

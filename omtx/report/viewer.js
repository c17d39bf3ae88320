// Starts a 3Dmol.js viewer (inlined before this script) on each [data-structure] element: a
// protein–ligand complex as a cartoon with the ligand as sticks and the residues around it as
// lines, a designed protein complex as one cartoon colour per chain, a lone molecule as sticks.
(function () {
  "use strict";
  var ligand = {hetflag: true};
  var protein = {hetflag: false};
  document.querySelectorAll("[data-structure]").forEach(function (element) {
    var data = JSON.parse(document.getElementById(element.dataset.structure).textContent);
    var viewer = typeof $3Dmol === "undefined" ? null : $3Dmol.createViewer(element, {backgroundColor: "white"});
    if (!viewer) {
      element.textContent = "This browser cannot show 3D structures (no WebGL).";
      return;
    }
    viewer.addModel(data.text, data.format);
    if (data.kind === "protein_complex") {
      viewer.setStyle({}, {cartoon: {colorscheme: "chain"}});
      viewer.zoomTo();
    } else if (data.kind === "molecule") {
      viewer.setStyle({}, {stick: {colorscheme: "greenCarbon", radius: 0.22}});
      viewer.zoomTo();
    } else {
      // a muted receptor, so the green-carbon ligand stands out
      viewer.setStyle(protein, {cartoon: {color: "lightsteelblue", opacity: 0.75}});
      viewer.addStyle({hetflag: false, byres: true, within: {distance: 5, sel: ligand}}, {line: {colorscheme: "Jmol"}});
      viewer.setStyle(ligand, {stick: {colorscheme: "greenCarbon", radius: 0.22}});
      viewer.zoomTo(ligand);
      viewer.zoom(0.45);
    }
    viewer.render();
    element.dataset.atoms = String(viewer.selectedAtoms({}).length);
  });
})();

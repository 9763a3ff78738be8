<?php
// Where the CAS server's logout sends the browser back to (not protected).
?><!doctype html>
<title>Signed out</title>
<p id="bye">Signed out of the application.</p>

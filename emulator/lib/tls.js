'use strict'
// A self-signed certificate for --tls, made at startup with the openssl CLI in a temp dir.

const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const { execFileSync } = require('node:child_process')

/** @returns {{ key: string, cert: string }} PEM texts (the temp dir is removed once they are read) */
function makeCertificate (extraHosts = []) {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tray-emulator-tls-'))
  const keyFile = path.join(dir, 'key.pem')
  const certFile = path.join(dir, 'cert.pem')
  const ips = ['127.0.0.1', ...extraHosts.filter((h) => /^[\d.]+$/.test(h) && h !== '127.0.0.1')]
  const san = ['DNS:localhost', ...ips.map((ip) => `IP:${ip}`)].join(',')
  try {
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256', '-days', '7',
      '-keyout', keyFile, '-out', certFile,
      '-subj', '/CN=127.0.0.1',
      '-addext', `subjectAltName=${san}`,
      '-addext', 'basicConstraints=critical,CA:TRUE'
    ], { stdio: 'ignore' })
    return { key: fs.readFileSync(keyFile, 'utf8'), cert: fs.readFileSync(certFile, 'utf8') }
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
}

module.exports = { makeCertificate }
